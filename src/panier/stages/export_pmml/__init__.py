"""Stage ``export-pmml``: the model as a PMML 4.4 AssociationModel."""
