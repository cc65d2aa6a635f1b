"""kube-scheduler: ``queue`` (active/backoff/unschedulable), ``framework`` (extension-point protocols, Status),
``nodeinfo`` + ``cache`` (precomputed NodeInfo snapshot with assumed pods), ``plugins/`` (one module per plugin),
``scheduler`` (the cycle), ``binder`` (side effects), ``handlers`` (informer wiring), ``server`` (``kyb scheduler``)."""
