"""How the program speaks and ends: its name as typed, its lines on stderr, usage errors and exit codes, stop signals."""
