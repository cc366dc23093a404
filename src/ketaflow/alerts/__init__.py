"""Safety alerts raised by ratings (suicidality, mood switch), open until a prescriber
acknowledges them."""
