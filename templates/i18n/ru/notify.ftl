# Ответы городской системы гражданам (notify).
notify-status-registered = Обращение зарегистрировано
notify-status-in_progress = Обращение рассматривается
notify-status-redirected = Обращение направлено по компетенции
notify-status-extended = Срок рассмотрения продлён
notify-status-resolved = Ответ на ваше обращение
notify-status-rejected = Решение по вашему обращению
notify-status-answer = Ответ на ваше обращение
notify-status-link = Статус обращения: { $link }
