"""Score baskets with JPMML-Evaluator, an engine panier did not write, in a process of its own
(the JVM stays out of the test process).

    python tests/support/pmml_engine.py models/rules.pmml < baskets.json > ranked.json

Reads a JSON list of baskets (lists of item codes) on stdin; writes a JSON list with, for each
basket, the consequents of the ranked rules the file's output fields ask for
(``recommendation_1`` ...), best first, fewer when fewer rules apply.
"""

from __future__ import annotations

import json
import sys

from panier.stages.export_pmml.pmml import ITEM_FIELD, RANKED_OUTPUTS


class JpmmlScorer:
    """JPMML-Evaluator's AssociationModel evaluator on one PMML file, called through its Java
    API (the Python wrapper cannot pass a collection-valued input field)."""

    def __init__(self, path: str):
        from jpmml_evaluator import make_evaluator

        evaluator = make_evaluator(path, backend="jpype", lax=False).verify()
        import jpype

        self._map = jpype.JClass("java.util.HashMap")
        self._list = jpype.JClass("java.util.ArrayList")
        self._java = evaluator.javaEvaluator

    def ranked_consequents(self, basket: list[str]) -> list[str]:
        items = self._list()
        for item in basket:
            items.add(item)
        arguments = self._map()
        arguments.put(ITEM_FIELD, items)
        result = self._java.evaluate(arguments)
        ranked = []
        for rank in range(1, RANKED_OUTPUTS + 1):
            value = result.get(f"recommendation_{rank}")
            if value is None:
                break
            (consequent,) = [str(v) for v in value]  # one-item consequents
            ranked.append(consequent)
        return ranked


def main() -> None:
    scorer = JpmmlScorer(sys.argv[1])
    baskets = json.load(sys.stdin)
    json.dump([scorer.ranked_consequents(basket) for basket in baskets], sys.stdout)


if __name__ == "__main__":
    main()
