"""Views: widgets that show what screens hand them ("attributes down, messages up")."""
