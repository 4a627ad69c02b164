"""The WebApp example's model types, one package per API version (kubebuilder's ``api/``)."""
