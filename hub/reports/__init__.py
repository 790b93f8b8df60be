"""Reports: rollups of what happened (hub.reports.rollup) and the figures read from them (hub.reports.query); docs/reports.md."""
