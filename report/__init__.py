"""Reports over run folders: learning curves across seeds, IQM with bootstrap intervals, tables, markdown."""
