"""The admin's view of how the site fits into the hospital's other systems: single sign-on, SCIM and the HR feed."""
