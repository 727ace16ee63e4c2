"""``python -m panier.ops.pr_report``: the same as ``panier report``."""

from panier.ops.pr_report.cli import cli

cli()
