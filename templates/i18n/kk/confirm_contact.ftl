# Азамат енгізген байланысты растау (issue 30): хабарламада өтініштің де, жауаптың да
# мазмұны жоқ, тек нөмірі мен растау жолы.
confirm-contact-notice-email = { $tracking } өтінішіңізге жауап дайын. Оны осы мекенжайға алу үшін оның сіздікі екенін растаңыз: { $link } — егер Open Almaty-ге жазбаған болсаңыз, бұл хатқа мән бермеңіз.
confirm-contact-notice-sms = Open Almaty: { $tracking } жауабы дайын. Код { $code }, оны мына жерге енгізіңіз: { $link }
confirm-contact-title = Байланысыңызды растаңыз
confirm-contact-intro = { $tracking } өтінішінде көрсетілген мекенжайға немесе нөмірге жіберілген кодты енгізіңіз. Байланыс расталғанда жауап сонда жіберіледі.
confirm-contact-code = Код
confirm-contact-submit = Растау
confirm-contact-done = Рахмет, байланысыңыз расталды. { $tracking } өтінішінің жауабы соған жіберілуде.
confirm-contact-wrong = Код дұрыс емес. Хабарламаны тексеріп, қайта көріңіз.
confirm-contact-too-many = Қате кодтар тым көп. Бір сағаттан кейін қайталаңыз.
confirm-contact-unknown = Бұл өтінішке ешқандай код күтілмейді.
confirm-contact-link = Жауапты алу үшін e-mail немесе телефоныңызды растаңыз
confirm-contact-answers = Өтінішіңізге жауап
