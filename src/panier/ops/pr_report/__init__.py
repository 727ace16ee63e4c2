"""The pull-request report: what a change does to the model, as one Markdown comment.

``panier report --base main`` (or ``panier-report``) compares the workspace, meaning the
branch's pipeline outputs after ``dvc repro``, with a base revision and prints Markdown meant
to be read in ten seconds: a one-line verdict first (``verdicts.verdict``), then only what
changed (params, the metrics that moved, the rules gained, lost and most changed with
products by description, plots of the figures that moved by 1% or more); sections the same
on both sides are one line or collapsed into ``<details>``. CI posts the same Markdown as
the pull request's comment (``.github/workflows/pr-report*.yml``); anyone can preview it
locally before pushing.

It is not a pipeline stage: it compares two revisions, so it is not in ``dvc.yaml`` and
writes nothing DVC tracks. Plots are Markdown-native text charts and tables, so no image is
uploaded anywhere.

One module per concern: ``gather`` reads both revisions (the only I/O) into the typed
values of ``model``; ``rules`` compares the rules; ``verdicts`` says in words what changed;
``formatting`` writes numbers; ``charts`` draws the text charts; ``sections`` and
``model_sections`` render each section from ``templates/``; ``comment`` assembles them;
``cli`` is the command. ``gather(...)`` then ``render(data)`` is the whole report.
"""

from panier.ops.pr_report.comment import render
from panier.ops.pr_report.gather import gather

__all__ = ["gather", "render"]
