x = eval(y)  # nosec B307
h = md5()  # nosemgrep: rule-a
