"""How fersk's shipped models are trained, as plain fersk API: rerun a recipe to
regenerate a shipped model, or to train one like it on your own data.
"""
