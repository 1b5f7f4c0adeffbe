"""The case library (投诉案例库): closed cases, searchable by Chinese substring, for training."""
