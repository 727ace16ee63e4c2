"""One folder per ``dvc.yaml`` stage: its entry point (``stage.py``, run as ``panier stage NAME``)
and its logic.

Each reads params and inputs, calls library functions and writes outputs; nothing else.
"""
