"""Validate OSCAL JSON documents with compliance-trestle's models, which are
generated from NIST's published OSCAL 1.1 JSON schemas. Usage:
    python3 tools/validate-oscal.py FILE...
Prints one line per file; exits 1 when any file is invalid."""
import json
import sys

from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.poam import PlanOfActionAndMilestones

MODELS = {
    "assessment-results": AssessmentResults,
    "plan-of-action-and-milestones": PlanOfActionAndMilestones,
}

failed = False
for path in sys.argv[1:]:
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    (root, body), = document.items()
    model = MODELS.get(root)
    if model is None:
        print(f"{path}: unknown OSCAL root `{root}`")
        failed = True
        continue
    try:
        model.model_validate(body)
        print(f"{path}: valid OSCAL {root}")
    except Exception as error:  # pydantic.ValidationError
        text = str(error)
        print(f"{path}: INVALID {root}: {text[:2000]}")
        failed = True
sys.exit(1 if failed else 0)
