"""DNS fuzz run against the RPZ primary (``python -m bench.dnsfuzz.run``)."""
