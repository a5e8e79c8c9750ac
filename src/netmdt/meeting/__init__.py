"""The MDT meeting as NHS MDTs run it (issue #11, parts 3 and 4): the agenda (order,
question, status), members and attendance with a quoracy check, the outcome recorded
live (actions, follow-up, responsible clinician, key worker, patient told), cancer
waiting-time dates, the pre-meeting lists, the minutes and the outcome letters.

Layout: ``tables`` (SQLAlchemy rows), ``vocab`` (the words people read), ``service``
(reads and writes, each audited), ``documents`` (minutes, lists and letters: HTML, PDF,
DOCX), ``web`` (pages and JSON API), ``demo`` (the demo meeting's record).
"""
