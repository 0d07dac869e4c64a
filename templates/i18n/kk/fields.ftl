# Форма қателері өрістің өз сөзімен (issue 28, 2-тармақ): `error-{ереже}-{өріс}`,
# жалпы `error-{ереже}` (errors.ftl) алдында, бет өрісті атаған жерде.
error-required-category = Санатты таңдаңыз
error-required-text = Мәселені сипаттаңыз: не дұрыс емес және қашаннан бері
error-too_long-text = Сипаттама тым ұзын: 20 000 таңбадан аспауы керек
error-required-address = Мәселенің мекенжайын көрсетіңіз немесе орналасқан жеріңізді пайдаланыңыз
error-place_required-address = Мәселенің мекенжайын көрсетіңіз немесе орналасқан жеріңізді пайдаланыңыз: мұндай мәселе орнында шешіледі
error-too_long-address = Мекенжай тым ұзын
error-invalid_phone-phone = Телефон нөмірін енгізіңіз, мысалы 8 701 123 45 67
error-invalid_email-email = Электрондық пошта мекенжайын енгізіңіз, мысалы name@mail.kz
error-invalid_iin-iin = ЖСН-нің 12 цифрын жеке куәліктегідей енгізіңіз
error-invalid_date-birth_date = Туған күнді күн, ай және жыл түрінде енгізіңіз, мысалы 17.05.1990; ол болашақта болмауы керек
error-required-title = Ұсыныстың атауын енгізіңіз
error-required-description = Ұсынысты сипаттаңыз
error-required-budget_address = Учаскенің мекенжайын көрсетіңіз
error-required-district = Ауданды таңдаңыз
error-required-cost = Құнының бағасын теңгемен енгізіңіз
error-invalid_value-cost = Құнын теңгенің бүтін санымен енгізіңіз, мысалы 1500000
