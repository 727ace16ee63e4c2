"""Stage entry points, one module per ``dvc.yaml`` stage: ``python -m panier.stages.<name>``.

Each reads params and inputs, calls library functions and writes outputs; nothing else.
"""
