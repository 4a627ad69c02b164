"""The REST layer: a FastAPI app factory, dependencies, one router per model generated
from the model's declaration, and problem+json error handling.
"""
