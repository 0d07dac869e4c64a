# Ошибки формы словами самого поля (issue 28, пункт 2): `error-{правило}-{поле}`,
# прежде общего `error-{правило}` (errors.ftl) везде, где страница называет поле.
error-required-category = Выберите категорию
error-required-text = Опишите проблему: что не так и с какого времени
error-too_long-text = Описание слишком длинное: не больше 20 000 символов
error-required-address = Укажите адрес проблемы или воспользуйтесь своим местоположением
error-place_required-address = Укажите адрес проблемы или воспользуйтесь своим местоположением: такую проблему устраняют на месте
error-too_long-address = Адрес слишком длинный
error-invalid_phone-phone = Введите номер телефона, например 8 701 123 45 67
error-invalid_email-email = Введите адрес электронной почты, например name@mail.kz
error-invalid_iin-iin = Введите 12 цифр ИИН, как в удостоверении личности
error-invalid_date-birth_date = Введите дату рождения: день, месяц и год, например 17.05.1990; она не может быть в будущем
error-required-title = Введите название предложения
error-required-description = Опишите предложение
error-required-budget_address = Укажите адрес участка
error-required-district = Выберите район
error-required-cost = Введите оценку стоимости в тенге
error-invalid_value-cost = Введите стоимость целым числом тенге, например 1500000
