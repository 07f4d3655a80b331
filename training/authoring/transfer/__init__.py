"""Question bank files: importing YAML or Moodle GIFT (previewed, then applied) and exporting them."""
