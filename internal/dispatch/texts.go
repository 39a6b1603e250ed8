package dispatch

// DefaultTexts are the invitation texts of a rule that has none of its own
// for a language.
var DefaultTexts = map[string]Texts{
	"fr": {
		Subject: "{{ company }} : votre avis compte",
		Body: "{{ if first_name }}Bonjour {{ first_name }},{{ else }}Bonjour,{{ end }}\n\n" +
			"Vous avez récemment eu affaire à {{ company }} ({{ step }}, le {{ date }}). " +
			"Pourriez-vous nous dire en deux minutes comment cela s'est passé ?\n\n" +
			"Merci d'avance,\nL'équipe {{ company }}",
		SMS: "{{ company }} : votre avis en 1 minute ? {{ survey_link }}",
	},
	"en": {
		Subject: "{{ company }}: how did we do?",
		Body: "{{ if first_name }}Hello {{ first_name }},{{ else }}Hello,{{ end }}\n\n" +
			"You recently dealt with {{ company }} ({{ step }}, on {{ date }}). " +
			"Could you spare two minutes to tell us how it went?\n\n" +
			"Thank you,\nThe {{ company }} team",
		SMS: "{{ company }}: one minute to tell us how it went? {{ survey_link }}",
	},
	"de": {
		Subject: "{{ company }}: Ihre Meinung zählt",
		Body: "{{ if first_name }}Guten Tag {{ first_name }},{{ else }}Guten Tag,{{ end }}\n\n" +
			"Sie hatten kürzlich mit {{ company }} zu tun ({{ step }}, am {{ date }}). " +
			"Würden Sie uns in zwei Minuten sagen, wie es war?\n\n" +
			"Vielen Dank,\nIhr {{ company }}-Team",
		SMS: "{{ company }}: Ihre Meinung in 1 Minute? {{ survey_link }}",
	},
	"es": {
		Subject: "{{ company }}: su opinión cuenta",
		Body: "{{ if first_name }}Hola {{ first_name }}:{{ else }}Hola:{{ end }}\n\n" +
			"Hace poco tuvo contacto con {{ company }} ({{ step }}, el {{ date }}). " +
			"¿Podría dedicarnos dos minutos para contarnos cómo fue?\n\n" +
			"Gracias,\nEl equipo de {{ company }}",
		SMS: "{{ company }}: ¿nos da su opinión en 1 minuto? {{ survey_link }}",
	},
	"it": {
		Subject: "{{ company }}: la sua opinione conta",
		Body: "{{ if first_name }}Buongiorno {{ first_name }},{{ else }}Buongiorno,{{ end }}\n\n" +
			"Di recente ha avuto a che fare con {{ company }} ({{ step }}, il {{ date }}). " +
			"Potrebbe dirci in due minuti com'è andata?\n\n" +
			"Grazie,\nIl team {{ company }}",
		SMS: "{{ company }}: la sua opinione in 1 minuto? {{ survey_link }}",
	},
	"pt": {
		Subject: "{{ company }}: a sua opinião conta",
		Body: "{{ if first_name }}Olá {{ first_name }},{{ else }}Olá,{{ end }}\n\n" +
			"Teve recentemente contacto com {{ company }} ({{ step }}, em {{ date }}). " +
			"Poderia dizer-nos em dois minutos como correu?\n\n" +
			"Obrigado,\nA equipa {{ company }}",
		SMS: "{{ company }}: a sua opinião em 1 minuto? {{ survey_link }}",
	},
}

// chrome are the fixed parts of every message in each language: the
// button, the reminder prefix, and the footer that says who asks, why, and
// how to see one's data, read the privacy notice or unsubscribe.
type chrome struct {
	Button, Reminder, Why, Privacy, MyData, Unsubscribe, SMSStop, DateLayout string
}

var chromes = map[string]chrome{
	"fr": {Button: "Donner mon avis", Reminder: "Rappel : ",
		Why:     "Ce message vous est envoyé par %s, via la plateforme avis, pour recueillir votre avis sur votre expérience récente (intérêt légitime : améliorer son service).",
		Privacy: "Protection des données", MyData: "Mes données", Unsubscribe: "Ne plus recevoir ces messages",
		SMSStop: "STOP : %s", DateLayout: "02/01/2006"},
	"en": {Button: "Give my opinion", Reminder: "Reminder: ",
		Why:     "This message is sent by %s, through the avis platform, to ask your opinion about your recent experience (legitimate interest: improving its service).",
		Privacy: "Privacy notice", MyData: "My data", Unsubscribe: "Stop receiving these messages",
		SMSStop: "STOP: %s", DateLayout: "2 January 2006"},
	"de": {Button: "Meinung abgeben", Reminder: "Erinnerung: ",
		Why:     "Diese Nachricht sendet Ihnen %s über die Plattform avis, um Ihre Meinung zu Ihrer jüngsten Erfahrung einzuholen (berechtigtes Interesse: Verbesserung des Service).",
		Privacy: "Datenschutz", MyData: "Meine Daten", Unsubscribe: "Keine solchen Nachrichten mehr",
		SMSStop: "STOP: %s", DateLayout: "02.01.2006"},
	"es": {Button: "Dar mi opinión", Reminder: "Recordatorio: ",
		Why:     "Este mensaje se lo envía %s, a través de la plataforma avis, para conocer su opinión sobre su experiencia reciente (interés legítimo: mejorar su servicio).",
		Privacy: "Protección de datos", MyData: "Mis datos", Unsubscribe: "No recibir más estos mensajes",
		SMSStop: "BAJA: %s", DateLayout: "02/01/2006"},
	"it": {Button: "Dai la tua opinione", Reminder: "Promemoria: ",
		Why:     "Questo messaggio le è inviato da %s, tramite la piattaforma avis, per conoscere la sua opinione sulla sua esperienza recente (interesse legittimo: migliorare il servizio).",
		Privacy: "Informativa privacy", MyData: "I miei dati", Unsubscribe: "Non ricevere più questi messaggi",
		SMSStop: "STOP: %s", DateLayout: "02/01/2006"},
	"pt": {Button: "Dar a minha opinião", Reminder: "Lembrete: ",
		Why:     "Esta mensagem é-lhe enviada por %s, através da plataforma avis, para saber a sua opinião sobre a sua experiência recente (interesse legítimo: melhorar o serviço).",
		Privacy: "Proteção de dados", MyData: "Os meus dados", Unsubscribe: "Não receber mais estas mensagens",
		SMSStop: "STOP: %s", DateLayout: "02/01/2006"},
}
