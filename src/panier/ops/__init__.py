"""Operations around the pipeline: DVC remote storage, the GTO model registry, git revisions and
the pull-request report.
"""
