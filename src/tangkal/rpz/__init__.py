"""The national blocklist as a DNS Response Policy Zone (RPZ).

``journal`` is the seam other packages use: they call :func:`tangkal.rpz.journal.publish`
inside their own unit of work, so a block and its zone change commit together. The rest of
the package turns the committed journal into a zone served over DNS (AXFR, IXFR, NOTIFY,
TSIG) by the primary that runs inside ``tangkal serve``.
"""
