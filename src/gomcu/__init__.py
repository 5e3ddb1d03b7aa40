"""gomcu: can Go run on this microcontroller, and will it keep its deadlines?"""

__version__ = "0.1.0"
