# Қала жүйесінің азаматтарға жауаптары (notify).
notify-status-registered = Өтініш тіркелді
notify-status-in_progress = Өтініш қаралуда
notify-status-redirected = Өтініш құзыреті бойынша жіберілді
notify-status-extended = Қарау мерзімі ұзартылды
notify-status-resolved = Өтінішіңізге жауап
notify-status-rejected = Өтінішіңіз бойынша шешім
notify-status-answer = Өтінішіңізге жауап
notify-status-link = Өтініш мәртебесі: { $link }
