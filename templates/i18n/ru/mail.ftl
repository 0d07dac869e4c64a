# Письма-подтверждения канала электронной почты.
mail-ack-subject = Ваше обращение принято
mail-ack-body = Здравствуйте! Ваше обращение зарегистрировано под номером { $tracking }. Ответ будет дан в течение 15 рабочих дней.
mail-ack-consent = Отправив письмо, вы дали согласие на обработку персональных данных (пункт 7.1 Положения о персональных данных Open Almaty): { $regulation }
mail-ack-not-kept = Эти вложения не сохранены (принимаются только фотографии):
    { $files }
mail-ack-reply-hint = Чтобы дополнить обращение, ответьте на это письмо, не меняя номер в теме.
mail-addition-subject = Дополнение к обращению принято
mail-addition-body = Ваше дополнение приложено к обращению { $tracking }.
mail-marker-opt_out_notifications-subject = Отказ от уведомлений принят
mail-marker-opt_out_notifications-body = Вы больше не будете получать информационные сообщения Open Almaty на этот адрес.
mail-marker-update_data-subject = Запрос на обновление персональных данных принят
mail-marker-update_data-body = Ваш запрос на обновление персональных данных принят; оператор свяжется с вами по этому адресу.
mail-marker-withdraw_consent-subject = Отзыв согласия принят
mail-marker-withdraw_consent-body = Ваш отзыв согласия на обработку персональных данных принят и записан.
