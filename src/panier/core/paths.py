"""Where each stage reads and writes, relative to the repository root.

``dvc.yaml`` declares the same paths; ``tests/integration/test_dvc_yaml.py`` keeps the two in step.
"""

from pathlib import Path

RAW_LINES = Path("data/raw/line_items.parquet")
CLEAN_LINES = Path("data/validated/clean.parquet")
REJECTED_LINES = Path("data/validated/rejected.parquet")

RULES = Path("models/rules.parquet")
ITEMS = Path("models/items.parquet")
MODEL_CARD = Path("models/model_card.json")
#: The same model as a PMML 4.4 AssociationModel (stage export-pmml).
PMML = Path("models/rules.pmml")

VALIDATION_METRICS = Path("metrics/validation.json")
TRAIN_METRICS = Path("metrics/train.json")
EVALUATE_METRICS = Path("metrics/evaluate.json")
DRIFT_METRICS = Path("metrics/drift.json")
METRICS_BY_K_PLOT = Path("metrics/plots/metrics_by_k.csv")
RULES_PLOT = Path("metrics/plots/rules.csv")

# Bringing your own data (issue 3): what ingest read, what validate saw and reports.
SOURCE_INFO = Path("data/raw/source.json")
INPUT_SCHEMA = Path("data/validated/input_schema.json")
VALIDATION_REPORT = Path("metrics/validation.md")

DRIFT_REPORT = Path("metrics/drift.md")
DRIFT_DASHBOARD = Path("metrics/drift.html")
DRIFT_PLOTS = Path("metrics/plots/drift")

# Affinity groups and the rules explorer (issue 15).
AFFINITY_ITEMS = Path("affinity/groups.parquet")
AFFINITY_GROUPS = Path("affinity/groups.json")
AFFINITY_EXPLORER = Path("affinity/explorer.html")
AFFINITY_REPORT = Path("metrics/affinity.md")
AFFINITY_METRICS = Path("metrics/affinity.json")
# Champion versus challenger (issue 14): which registry version is the champion (committed,
# written by `panier gate champion`), where its files are fetched to (not in git),
# and the gate's verdict.
CHAMPION_POINTER = Path("data/champion.json")
CHAMPION_DIR = Path("data/champion")
GATE_METRICS = Path("metrics/gate.json")
GATE_REPORT = Path("metrics/gate.md")
#: The headline figures (stage summary): the only metrics file DVC shows and compares. The
#: detailed metrics above are DVC outputs in its cache, so that each stage keeps its run cache.
SUMMARY_METRICS = Path("metrics/summary.json")
