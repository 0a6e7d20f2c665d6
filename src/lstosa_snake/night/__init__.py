"""The night's plan: dates, configuration, night summaries and their ECSV, sequencing, calibration lookup,
RF models and the product paths. Pure functions of the inputs; imports nothing above it but core."""
