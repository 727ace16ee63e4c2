"""Stage ``export-pmml``: the trained model as a PMML 4.4 AssociationModel
(docs/reference/pmml.md)."""

from panier.core import io, paths
from panier.core.runner import run_stage
from panier.stages.export_pmml.pmml import to_pmml


def main() -> None:
    rules = io.read_parquet(paths.RULES)
    items = io.read_parquet(paths.ITEMS)
    card = io.read_json(paths.MODEL_CARD)
    document = to_pmml(rules, items, card)
    io.write_bytes(document, paths.PMML)


if __name__ == "__main__":
    run_stage("export-pmml", main)
