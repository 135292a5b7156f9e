"""Package data: reference process models (happy_path.bpmn)."""
