"""Judging models: WAR/UAR and per-group metrics (``metrics``), leakage-free
cross-validation (``crossval``), pictures (``plot``) and Markdown/HTML reports
(``report``).
"""
