"""Teaching: exercise variants with their sheets and keys, and grading a student's answers, naming the
mistake where one explains them."""
