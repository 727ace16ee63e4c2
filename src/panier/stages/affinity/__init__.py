"""Stage ``affinity``: product affinity groups for shelves, and the rules explorer page."""
