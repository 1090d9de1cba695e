"""brand-monitor: hears a brand's name across the internet and puts angry customers in front of people fast."""
__version__ = "0.1.0"
