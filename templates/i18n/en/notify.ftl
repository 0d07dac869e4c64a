# Answers of the city's case system to citizens (notify).
notify-status-registered = Your appeal is registered
notify-status-in_progress = Your appeal is being considered
notify-status-redirected = Your appeal was sent to the competent body
notify-status-extended = The time for an answer was extended
notify-status-resolved = The answer to your appeal
notify-status-rejected = The decision on your appeal
notify-status-answer = The answer to your appeal
notify-status-link = Status of the appeal: { $link }
