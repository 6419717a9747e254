"""What leaves the case: the HTML/PDF report, CSV/JSON exports and import, the evidence bundle, and the face
blurring every exported image goes through."""
