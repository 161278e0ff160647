"""Assignment: classifies opinions, assigns them to responsible agencies, records answers."""
