"""What the shifters look at: datacheck plots, the night page, the datacheck directory, publishing and the report."""
