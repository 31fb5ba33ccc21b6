"""Plumbing every layer uses: one row per input (``batch``), the content-keyed cache,
the image-transformer mixins (``base``), landmark and clip layouts (``layout``),
walking nested estimators (``pipeline_tools``), fit progress bars, the environment
record, Dask clusters (``distributed``), resumed runs over resumable CSVs
(``resume``), SIGTERM taken as Ctrl-C (``interrupts``) and the only private
scikit-learn imports (``_sklearn_compat``).
"""
