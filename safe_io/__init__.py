"""Files written whole or not at all, and every path vetted before anything is read or written."""
