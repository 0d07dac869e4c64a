# Подтверждение контакта, введённого гражданином (issue 30): в уведомлении нет ничего из
# обращения или ответа, только номер и способ подтвердить.
confirm-contact-notice-email = Ответ на ваше обращение { $tracking } готов. Чтобы получить его на этот адрес, подтвердите, что он ваш: { $link } — если вы не писали в Open Almaty, не отвечайте на это письмо.
confirm-contact-notice-sms = Open Almaty: ответ на { $tracking } готов. Код { $code }, введите его на { $link }
confirm-contact-title = Подтвердите контакт
confirm-contact-intro = Введите код, отправленный на адрес или номер, указанный в обращении { $tracking }. Ответ придёт туда, когда контакт подтверждён.
confirm-contact-code = Код
confirm-contact-submit = Подтвердить
confirm-contact-done = Спасибо, контакт подтверждён. Ответ на обращение { $tracking } отправляется на него.
confirm-contact-wrong = Код неверный. Проверьте сообщение и попробуйте снова.
confirm-contact-too-many = Слишком много неверных кодов. Попробуйте через час.
confirm-contact-unknown = Для этого обращения код не ожидается.
confirm-contact-link = Подтвердите e-mail или телефон, чтобы получить ответ
confirm-contact-answers = Ответ на ваше обращение
