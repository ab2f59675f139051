package demo

import "github.com/steward-itaas/steward/internal/desk"

// topic is one kind of trouble (or ask) with a service, in the words its
// users and agents use: the desk history draws its tickets from these,
// varying the phrasing, so that a classifier learning from the history
// has real text to learn from (issue 20, "Free text to service"). Texts
// may hold placeholders that the history fills per ticket: {site} (where
// the requester works), {printer}, {host}, {bucket}, {db}, {app},
// {colleague}, {team}, {share}, {day}, {n}, {asset}, and, in notes and
// resolutions, {problem} (the known error's reference).
type topic struct {
	key     string    // names the topic (a problem links its incidents by it)
	service string    // the service agents settle on
	kind    desk.Kind // incident or request
	weight  int       // how often it comes up, relative to the others
	// impact and urgency as users usually set them (0: medium).
	impact, urgency int
	// wrong are services users raise it against by mistake; the agent
	// reclassifies (Classify) to service.
	wrong []string
	// units limits it to requesters of these business units (codes).
	units []string
	// cases are the ways it shows, each in several phrasings.
	cases []phrasing
	// asks are what the agent asks the requester, replies their answers
	// (by index, the last for the asks beyond).
	asks, replies []string
	// notes are work notes; resolutions how it was resolved when the case
	// does not say.
	notes, resolutions []string
	// known is the resolution that names the topic's known error, used
	// while a problem is open for it.
	known string
	// escalate is the group second line work it in (tier 2), with why.
	escalate, escalateNote string
	// hold is a reason other than the customer it waits for (supplier,
	// change), with the note that says so.
	hold, holdNote string
	// quick topics the service desk often resolves on the phone.
	quick bool
}

// phrasing is one case of a topic: how users title it, describe it, and
// how agents resolved it (the topic's resolutions when none).
type phrasing struct {
	summaries, details, resolutions []string
}

// topics is the desk's repertoire: per service, the troubles and asks
// people raise.
var topics = []topic{
	// Desktop computing.
	{key: "print", service: "desktop", kind: desk.Incident, weight: 14,
		cases: []phrasing{
			{summaries: []string{"my laptop can't print", "Can't print to {printer}", "laptop won't print to the 3rd floor printer", "Printing problem", "unable to print since yesterday"},
				details: []string{"my laptop can't print to {printer} since yesterday, other people in {site} can print fine.",
					"When I print from Word nothing comes out, the job just sits in the queue with status 'Error - printing'.",
					"I can't print to {printer} anymore. It worked on Friday. Other people can print to it."}},
			{summaries: []string{"printer shows offline on my laptop", "Printer offline", "printer says offline but it is on"},
				details: []string{"The printer shows as offline on my laptop but it's on and has paper. Tried turning it off and on.",
					"{printer} says 'offline' in the printers list on my laptop, colleagues can print to it."},
				resolutions: []string{"The printer had lost its IP reservation; fixed the reservation and the queue came back online.",
					"Re-added {printer} to the laptop: the old queue pointed at the retired print server."}},
			{summaries: []string{"printer driver unavailable", "Printing a PDF gives a driver error", "'driver is unavailable' when printing"},
				details: []string{"printing a PDF gives 'driver is unavailable'. Word documents print ok-ish but very slowly.",
					"Since the update on {day} I can't print at all, it says the driver is unavailable."},
				resolutions: []string{"Printer driver was missing after the image update; reinstalled it from Software Center and a test page printed."}},
			{summaries: []string{"Print jobs disappear", "Nothing comes out of the printer", "print queue stuck"},
				details: []string{"i send the print and it disappears, nothing comes out of the printer. happens with every document.",
					"My print jobs are stuck in the queue and I can't cancel them, now nobody on our floor can print."},
				resolutions: []string{"Cleared the stuck print queue and restarted the print spooler; printing works again."}},
			{summaries: []string{"printer prints garbage", "Prints come out as random characters"},
				details: []string{"Prints come out as pages of random characters, wasted half a ream already.",
					"Every document I send to {printer} comes out as pages of symbols."},
				resolutions: []string{"Wrong driver (PCL instead of PostScript) on the queue; switched it and prints are fine."}},
		},
		asks: []string{"Could you tell me the printer's name (on the sticker on its front) and send a screenshot of the error?",
			"Can I connect to your laptop remotely to look at the print queue? When suits you?", "Does it happen with every document or only PDFs?"},
		replies: []string{"It's {printer}, the one next to the kitchen. Screenshot attached, it says 0x00000709",
			"anytime after 2pm is fine, thanks", "every document, word and pdf"},
		notes: []string{"Spooler crashes with faulting module for the v3 driver; the image update on {day} removed it.",
			"Remote session: the queue points at the old print server (prn-old-01).", "Test page from the server prints fine; client side only."},
		resolutions: []string{"Reinstalled the printer driver from Software Center and re-added the printer; a test page printed.",
			"Cleared the print queue and restarted the spooler; printing works."},
		known: "Known error {problem}: reinstalled the printer driver from Software Center (the workaround) and re-added the printer."},
	{key: "slow-laptop", service: "desktop", kind: desk.Incident, weight: 9,
		cases: []phrasing{
			{summaries: []string{"Laptop very slow", "Computer is sooo slow", "laptop takes 15 minutes to start", "slow laptop"},
				details: []string{"My laptop has been extremely slow for a week, opening Excel takes minutes.",
					"Every morning it takes 15 minutes before I can log in, the circle just spins.",
					"the laptop is so slow I can't work, even the start menu takes ages to open."},
				resolutions: []string{"Disk was almost full with temp files; cleaned up and freed 40 GB. Starts in under a minute now.",
					"Removed the old antivirus agent left behind next to the new one; the laptop is quick again."}},
			{summaries: []string{"blue screen on my laptop", "Laptop crashes with blue screen", "BSOD twice today"},
				details: []string{"Got a blue screen twice today, something about DRIVER_IRQL_NOT_LESS_OR_EQUAL.",
					"My laptop crashes with a blue screen when I undock it."},
				resolutions: []string{"Updated the graphics driver, which caused the blue screens; no crash in two days of use."}},
			{summaries: []string{"Laptop keeps restarting after update", "PC restarts every 10 minutes"},
				details:     []string{"After the update last night it restarts every 10 minutes. I can't work like this."},
				resolutions: []string{"A stuck Windows update; completed it in safe mode and the laptop boots normally."}},
			{summaries: []string{"laptop won't turn on", "Laptop dead", "laptop doesn't charge"},
				details: []string{"laptop is dead, won't switch on even when plugged in. the light on the charger is on.",
					"My laptop doesn't charge anymore, the battery is at 3% and it will die soon."},
				resolutions: []string{"Replaced the power supply (faulty); the laptop charges and starts.",
					"Faulty battery: swapped the laptop from the hub's spare stock and moved the user's data."}},
			{summaries: []string{"PC freezes all the time", "laptop freezes with Teams open"},
				details: []string{"the whole thing freezes when I have Teams and Excel open at the same time.",
					"My PC freezes several times a day and I have to hold the power button."},
				resolutions: []string{"Memory upgraded from 8 to 16 GB; no freezes since."}},
		},
		asks:    []string{"Could you leave the laptop on and connected to the network tonight so we can run the diagnostics?", "What is the asset tag on the sticker underneath the laptop?"},
		replies: []string{"ok, leaving it on", "It's {asset}"},
		notes: []string{"Disk at 99 % full, mostly the Teams cache and temp files.", "Battery health 31 %; hardware fault.",
			"Stuck feature update in the update log; safe mode needed.", "Memory diagnostic clean, SMART clean."},
		hold: "supplier", holdNote: "Waiting for the replacement part from the hardware maintenance contractor."},
	{key: "dock", service: "desktop", kind: desk.Incident, weight: 5,
		cases: []phrasing{
			{summaries: []string{"Second screen not working", "monitors stay black when I dock", "Laptop will not dock"},
				details: []string{"When I put the laptop in the docking station the two monitors stay black.",
					"I moved desks to {site} and the dock there doesn't recognise my laptop."},
				resolutions: []string{"Updated the dock firmware; both monitors work."}},
			{summaries: []string{"dock doesn't charge my laptop", "USB ports on the docking station dead"},
				details:     []string{"the dock doesn't charge the laptop anymore and the keyboard and mouse connected to it don't work."},
				resolutions: []string{"Swapped the docking station; the old one had a faulty power supply."}},
			{summaries: []string{"external monitor flickering", "Screen flickers"},
				details:     []string{"My second monitor flickers every few seconds, the first one is fine."},
				resolutions: []string{"Replaced the display cable, which was damaged."}},
		},
		notes: []string{"Dock firmware 1.0.12; 1.0.19 fixes display output on this model."}},
	{key: "software", service: "desktop", kind: desk.Request, weight: 9, urgency: 3,
		cases: []phrasing{
			{summaries: []string{"Need Visio installed", "Visio please", "install Visio"}, details: []string{"Could you please install Visio on my laptop? My manager approved it."}},
			{summaries: []string{"please install Power BI Desktop", "Power BI on my laptop"}, details: []string{"I need Power BI Desktop for the monthly reports, it's not in Software Center."}},
			{summaries: []string{"Can I get Adobe Acrobat Pro?", "Acrobat Pro licence"}, details: []string{"Customer sends contracts as PDF forms that I need to edit, so I need Acrobat Pro please."}},
			{summaries: []string{"Request: Python on my laptop", "python + vs code"}, details: []string{"need python 3 and VS Code for some data analysis scripts."}},
			{summaries: []string{"Need SAP GUI on new laptop", "SAP missing on my laptop"}, details: []string{"New laptop doesn't have SAP GUI, I need it to enter orders."}},
			{summaries: []string{"install Zoom please, customer uses it", "Zoom"}, details: []string{"Can you install Zoom? One of our suppliers only does Zoom calls."}},
		},
		asks:    []string{"Could you ask your manager to confirm the licence cost (it's charged to your cost centre)?"},
		replies: []string{"Manager has confirmed, see email from {colleague}"},
		resolutions: []string{"Installed from Software Center after assigning the licence; user confirmed it opens.",
			"Approved by the manager; package deployed to the laptop.", "Deployed; it's now also available to the user in Software Center."}},
	{key: "laptop-replace", service: "desktop", kind: desk.Request, weight: 5,
		cases: []phrasing{
			{summaries: []string{"Replacement laptop, keyboard broken", "keyboard not working"}, details: []string{"Several keys on my keyboard stopped working (e, r and space). Can I get a replacement?"}},
			{summaries: []string{"cracked screen", "Broken laptop screen"}, details: []string{"I dropped my laptop and the screen is cracked in the corner, it still works but hard to read."},
				resolutions: []string{"Screen replaced under warranty by the hardware contractor."}},
			{summaries: []string{"coffee spilled on keyboard"}, details: []string{"Spilled coffee on the keyboard this morning, it is drying now but some keys are sticky."}},
			{summaries: []string{"New starter needs a laptop on Monday", "laptop for new starter"}, details: []string{"We have a new starter, {colleague}, beginning Monday in {site} and there's no laptop for them yet."},
				resolutions: []string{"New laptop imaged and delivered; the manager signed for it."}},
			{summaries: []string{"laptop stolen from car", "Stolen laptop"}, details: []string{"My laptop was stolen from my car last night. I reported it to the police, reference attached."}},
		},
		asks:        []string{"Where should the replacement be delivered, and who will be there to sign for it?"},
		replies:     []string{"To {site}, reception can sign for it"},
		notes:       []string{"Device marked lost in the MDM and wiped; BitLocker was on.", "Spare allocated from hub stock."},
		resolutions: []string{"Replacement laptop delivered and set up with the user's data.", "Swapped for a spare from the hub; data restored from the backup."},
		hold:        "supplier", holdNote: "The hardware contractor has the part on back order; expected this week."},
	{key: "bitlocker", service: "desktop", kind: desk.Incident, weight: 3, urgency: 1, quick: true,
		cases: []phrasing{{summaries: []string{"laptop asks for a BitLocker recovery key", "Bitlocker recovery screen after BIOS update", "blue screen asking for recovery key"},
			details: []string{"When I start my laptop it asks for a BitLocker recovery key and I don't have one.",
				"After the BIOS update it shows a blue screen asking for a 48-digit recovery key. Key ID starts with 3F2A."}}},
		resolutions: []string{"Read the recovery key to the user over the phone from the directory; the laptop started and BitLocker resumed.",
			"Gave the recovery key after verifying the user's identity; suspended BitLocker for the pending BIOS update."}},
	{key: "store-pc", service: "desktop", kind: desk.Incident, weight: 4, urgency: 1, units: []string{"RETAIL"},
		cases: []phrasing{
			{summaries: []string{"Back office PC in the store won't log in", "store PC: trust relationship failed"},
				details:     []string{"The back office PC in {site} shows 'the trust relationship between this workstation and the domain failed'."},
				resolutions: []string{"Rejoined the PC to the domain; staff can log in."}},
			{summaries: []string{"store PC stuck on 'preparing windows'", "Till office PC broken"},
				details:     []string{"Store PC has been on 'preparing Windows' for an hour, we need it for the cash-up."},
				resolutions: []string{"Let the update finish remotely and rebooted; PC is working."}},
			{summaries: []string{"store PC very slow to log on", "staff can't clock in, PC slow"},
				details:     []string{"The PC in the manager's office in {site} takes ages to log in, staff can't clock in."},
				resolutions: []string{"Removed stale user profiles filling the disk; log-on takes under a minute."}},
		},
		notes: []string{"Machine account password out of sync (PC was off for 3 months)."}},

	// Email and calendar.
	{key: "outlook-password", service: "email", kind: desk.Incident, weight: 9, wrong: []string{"directory", "desktop"},
		cases: []phrasing{
			{summaries: []string{"Outlook keeps asking for my password", "outlook password popup every 5 min", "Outlook asks for credentials constantly",
				"keeps prompting for password in outlook", "Outlook login box keeps coming back", "outlook wants my password again and again"},
				details: []string{"Outlook keeps asking for my password, I type it in and 5 minutes later it asks again.",
					"Since this morning a box pops up in Outlook asking for my credentials. Password is correct, works in the browser.",
					"outlook keeps asking for my password and then says 'Need password' at the bottom. mails don't come in.",
					"Every time I open Outlook I have to enter my password 3 times. Teams is fine."}},
		},
		asks:    []string{"Could you tell me whether it happens in Outlook on the web too?"},
		replies: []string{"no, the web version works fine"},
		notes:   []string{"Legacy registry key disables modern authentication (old migration script).", "Cached credentials stale in Credential Manager."},
		resolutions: []string{"Cleared the cached credentials in Credential Manager and re-created the Outlook profile; no more prompts.",
			"Modern authentication was disabled by an old registry key; removed it and Outlook signs in once."},
		known: "Known error {problem}: applied the workaround (cleared the cached credentials, removed the legacy registry key); Outlook signs in once."},
	{key: "mail-flow", service: "email", kind: desk.Incident, weight: 7, urgency: 1,
		cases: []phrasing{
			{summaries: []string{"Not receiving emails from customers", "I'm not getting any external email", "customer emails not arriving"},
				details: []string{"Since yesterday I haven't received any emails from outside Contoso, internal ones arrive.",
					"Customers say they've emailed me but nothing arrives. Urgent, we are losing orders!"},
				resolutions: []string{"An inbox rule was moving external mail to a hidden folder; removed it with the user.",
					"Released the quarantined messages and allow-listed the customer's domain."}},
			{summaries: []string{"emails stuck in outbox", "Can't send emails"},
				details:     []string{"My emails stay in the Outbox and never send. Tried restarting Outlook."},
				resolutions: []string{"Outbox was stuck on a 60 MB attachment; removed it and sent the file as a link."}},
			{summaries: []string{"Mail to supplier bounces", "Undeliverable message when sending to a supplier"},
				details:     []string{"Every mail I send to our supplier bounces with '550 5.7.1 rejected by policy'."},
				resolutions: []string{"The supplier's SPF record was missing our new relay; they corrected it and mail flows."}},
			{summaries: []string{"emails going to junk", "supplier mails in junk folder"},
				details:     []string{"All emails from {colleague} at the supplier go straight to junk."},
				resolutions: []string{"Added the supplier's domain to the safe senders for the organisation."}},
		},
		asks:    []string{"Could you forward us one of the bounce messages as an attachment?"},
		replies: []string{"forwarded it to servicedesk@ just now"},
		notes:   []string{"Message trace: rejected by the supplier's SPF check.", "Transport rule quarantining mail with .xlsm attachments.", "Mailbox rule moving everything to an RSS folder."}},
	{key: "mailbox-full", service: "email", kind: desk.Incident, weight: 4, quick: true,
		cases: []phrasing{{summaries: []string{"mailbox full can't send", "Your mailbox is almost full warning", "can't send emails, mailbox over limit"},
			details: []string{"I get a message that my mailbox is full and I can't send anymore.", "Outlook says mailbox is almost full (49.5 GB of 50 GB). What can I delete?"}}},
		resolutions: []string{"Enabled the online archive and moved mail older than two years there; 18 GB free.", "Emptied Deleted Items with the user (22 GB) and set the archive policy."}},
	{key: "shared-mailbox", service: "email", kind: desk.Request, weight: 7, urgency: 3,
		cases: []phrasing{
			{summaries: []string{"Need access to the orders@ shared mailbox", "access to the orders mailbox"},
				details:     []string{"Please give me full access to the orders@contoso.example shared mailbox, I'm covering for {colleague}."},
				resolutions: []string{"Granted full access and send-as; the mailbox appears in Outlook after a restart."}},
			{summaries: []string{"please add me to the finance-all distribution list", "add me to a DL"},
				details:     []string{"Can you add me to the finance-all distribution list? I'm not getting the month-end emails."},
				resolutions: []string{"Added to the distribution list."}},
			{summaries: []string{"Create a shared mailbox for {team}", "new shared mailbox"},
				details:     []string{"We need a shared mailbox for {team} so we don't use personal mailboxes for suppliers."},
				resolutions: []string{"Created the shared mailbox and gave the team access; the requester owns it."}},
			{summaries: []string{"New distribution list for the store managers", "distribution list request"},
				details:     []string{"Please create a distribution list with all store managers in the region, list attached."},
				resolutions: []string{"Distribution list created with the members listed."}},
			{summaries: []string{"remove {colleague} from the sales DL", "Remove leaver from distribution list"},
				details:     []string{"{colleague} left the team, please remove them from our distribution list."},
				resolutions: []string{"Removed from the distribution list."}},
		},
		asks:    []string{"Who should own this (approve access requests later)?"},
		replies: []string{"me, I'm the team lead"}},
	{key: "calendar", service: "email", kind: desk.Incident, weight: 4,
		cases: []phrasing{
			{summaries: []string{"Meeting invites not showing in calendar"}, details: []string{"Invitations arrive in my inbox but the meetings never appear in my calendar."},
				resolutions: []string{"A calendar-processing setting was off on the mailbox; turned it on and invites land in the calendar."}},
			{summaries: []string{"can't see my manager's calendar"}, details: []string{"I should be able to see {colleague}'s calendar (I'm the assistant) but it says no permission."},
				resolutions: []string{"Delegate permissions re-applied; the calendar is visible."}},
			{summaries: []string{"calendar shows meetings at wrong time"}, details: []string{"All my meetings moved by an hour since the clock change."},
				resolutions: []string{"Time zone in Outlook was wrong; corrected and the meetings show right."}},
			{summaries: []string{"room booking doesn't work"}, details: []string{"When I book meeting room 4.12 it declines automatically even though it's free."},
				resolutions: []string{"The room mailbox's booking policy limited bookings to 30 minutes; fixed it."}},
		}},
	{key: "phone-mail", service: "email", kind: desk.Incident, weight: 4,
		cases: []phrasing{
			{summaries: []string{"email stopped syncing on my phone", "no emails on my phone since the weekend"},
				details: []string{"My work email stopped syncing on my phone since Saturday, the laptop is fine."}},
			{summaries: []string{"Outlook app on iPhone says account needs attention"},
				details: []string{"the Outlook app on my iPhone keeps saying 'account needs attention' and asks me to sign in again."}},
			{summaries: []string{"can't add work email to new phone"}, details: []string{"new phone, can't add my work email to it."}},
		},
		resolutions: []string{"Re-registered the phone in device management; mail syncs again.", "Signed the user in again after the password change; syncing."}},
	{key: "phishing", service: "email", kind: desk.Incident, weight: 3, urgency: 1,
		cases: []phrasing{
			{summaries: []string{"Suspicious email asking to reset my password", "phishing?", "Is this email real?"},
				details:     []string{"I got an email from 'IT Support' telling me to reset my password on a strange website. Is it real?"},
				resolutions: []string{"Phishing confirmed; purged the message from every mailbox and blocked the sender."}},
			{summaries: []string{"I clicked a link in a phishing email", "entered my password on a fake site"},
				details:     []string{"I clicked on a link in an email about a parcel and entered my password before I realised. Sorry!"},
				resolutions: []string{"Reset the password, revoked the sessions and checked the sign-ins: nothing suspicious followed."}},
			{summaries: []string{"Fake invoice email from a supplier"},
				details:     []string{"An email that looks like it's from our supplier asks us to pay an invoice to a new bank account."},
				resolutions: []string{"Confirmed fraudulent; finance warned and the domain blocked."}},
		},
		notes: []string{"Message purged from all mailboxes; sender domain blocked.", "Sign-ins reviewed: none from unknown locations."}},

	// Directory and single sign-on.
	{key: "locked", service: "directory", kind: desk.Incident, weight: 11, urgency: 1, quick: true, wrong: []string{"desktop", "email"},
		cases: []phrasing{
			{summaries: []string{"Account locked out", "can't log in to my laptop, account locked", "locked out"},
				details: []string{"My account is locked, I typed the wrong password too many times.",
					"can't log in to my laptop, it says the account is locked out. I'm writing from {colleague}'s PC."}},
			{summaries: []string{"Forgot my password", "need password reset", "Password reset please"},
				details: []string{"Forgot my password after the weekend. Can you reset it?", "I need my password reset please, I can't remember it."}},
			{summaries: []string{"password expired can't log in", "locked out after holiday"},
				details: []string{"I was on holiday for 3 weeks and now my password has expired and I can't log in."}},
			{summaries: []string{"says my account is disabled"}, details: []string{"It says my account is disabled when I try to log in."},
				resolutions: []string{"Account had been disabled by the leavers process by mistake; re-enabled it and told HR."}},
		},
		resolutions: []string{"Unlocked the account and reset the password after verifying the caller's identity; user signed in.",
			"Password reset after identity check; the user chose a new one at log-in."}},
	{key: "mfa", service: "directory", kind: desk.Incident, weight: 6, urgency: 1,
		cases: []phrasing{
			{summaries: []string{"New phone, need to re-register MFA", "lost my phone, can't do the 2 factor"},
				details: []string{"I got a new phone and the Authenticator app has no account anymore, so I can't sign in.",
					"Lost my phone yesterday so I cannot do the two-factor login."},
				resolutions: []string{"Cleared the MFA methods after verifying identity; the user registered the new phone.", "Issued a temporary access pass and re-registered MFA."}},
			{summaries: []string{"Authenticator not sending push notifications", "stuck in MFA loop"},
				details:     []string{"I'm not getting the push notification to approve my sign in."},
				resolutions: []string{"Notifications for the Authenticator app were off on the phone; turned them on."}},
			{summaries: []string{"MFA code rejected"}, details: []string{"The six digit code is always rejected as wrong."},
				resolutions: []string{"The phone's clock was wrong, so the codes were; set it to automatic time."}},
		}},
	{key: "sso", service: "directory", kind: desk.Incident, weight: 6, wrong: []string{"crm-saas"},
		cases: []phrasing{
			{summaries: []string{"Single sign-on fails for {app}", "SSO error AADSTS50105", "can't sign in to {app}, says no access"},
				details: []string{"When I open {app} I get 'AADSTS50105: the signed in user is not assigned to a role for the application'.",
					"I can't log into {app}, the single sign-on page says I have no access. Colleagues can log in."},
				resolutions: []string{"Added the user to the application's access group; SSO works."}},
			{summaries: []string{"logging into {app} loops back to the login page", "login loop"},
				details:     []string{"{app} sends me to the Contoso login, I sign in, and then it goes back to the login page forever."},
				resolutions: []string{"Certificate of the SSO app had expired; renewed it (affected everyone)."}},
			{summaries: []string{"can't sign in to {app} after name change"},
				details:     []string{"After my name change I can't sign in to {app} anymore."},
				resolutions: []string{"The application still had the old user name; updated it and the user signs in."}},
		},
		asks:    []string{"Could you send a screenshot of the error, with the correlation ID?"},
		replies: []string{"screenshot attached"},
		notes:   []string{"User not in the enterprise app's assignment group.", "Old UPN cached by the application after the rename."}},
	{key: "access-group", service: "directory", kind: desk.Request, weight: 7, urgency: 3,
		cases: []phrasing{
			{summaries: []string{"Add me to the group for the finance reports", "Access to finance reports"},
				details:     []string{"Please add me to the group that can see the finance reports in Power BI, approved by {colleague}."},
				resolutions: []string{"Added to the group; access shows after the next sign-in."}},
			{summaries: []string{"New starter account for {colleague}", "new user account"},
				details:     []string{"New starter {colleague} begins on Monday in {site}, please create the account. Manager is me."},
				resolutions: []string{"Account created; credentials given to the manager."}},
			{summaries: []string{"Leaver: disable account", "leaver {colleague}"},
				details:     []string{"{colleague} leaves us on Friday, please disable the account at 5pm and forward mail to me."},
				resolutions: []string{"Account disabled as requested and mail forwarded to the manager."}},
			{summaries: []string{"Access request for {app}", "same access as me for {colleague}"},
				details:     []string{"Can {colleague} have the same access as me to {app}?"},
				resolutions: []string{"Access granted as for the named colleague."}},
			{summaries: []string{"Need admin rights for one day", "local admin request"},
				details:     []string{"I need local admin rights to install a driver for the label printer, only for today."},
				resolutions: []string{"Installed the driver for the user instead; admin rights are not needed."}},
		},
		asks:    []string{"Could the data owner confirm by replying here?"},
		replies: []string{"Approved - {colleague}"}},

	// Network.
	{key: "vpn", service: "network", kind: desk.Incident, weight: 12, wrong: []string{"desktop"},
		escalate: "Network Operations", escalateNote: "Escalating to Network Operations: the tunnel logs show repeated renegotiation from the user's address.",
		cases: []phrasing{
			{summaries: []string{"VPN drops every few minutes", "GlobalProtect keeps disconnecting", "VPN disconnects during Teams calls", "vpn keeps dropping"},
				details: []string{"The VPN drops every few minutes when I work from home, then reconnects after a minute.",
					"GlobalProtect disconnects every 10 minutes, on my home wifi and on my phone hotspot.",
					"Every Teams call on VPN freezes and drops after a few minutes."},
				resolutions: []string{"Lowered the VPN MTU in the client profile; the connection has been stable for two days.",
					"Moved the user to the London gateway and added licences to Manchester's; no drops since."}},
			{summaries: []string{"Can't connect to VPN from home", "vpn not working", "VPN error 'gateway not responding'"},
				details: []string{"I can't connect to the VPN from home, it says 'gateway not responding'. My internet works.",
					"vpn won't connect at all since this morning."},
				resolutions: []string{"Reinstalled the VPN client, whose virtual adapter was broken after an update."}},
			{summaries: []string{"VPN connected but nothing loads", "vpn very slow"},
				details: []string{"VPN says connected but I can't open the intranet or the shared drives.",
					"The vpn is so slow that opening a file from the S drive takes minutes."},
				resolutions: []string{"Split tunnelling was off after a client update; restored the profile and it is fast again."}},
		},
		asks:    []string{"Which internet provider do you have at home, and does it also drop on your phone's hotspot?"},
		replies: []string{"Virgin Media. On the hotspot it seems fine actually"},
		notes:   []string{"Drops line up with MTU-sized packets being fragmented on some home routers.", "Gateway in Manchester near its licence limit at 09:00."},
		known:   "Known error {problem}: switched the user to the compatibility VPN profile (the workaround); stable since.",
		hold:    "change", holdNote: "The gateway fix goes in with the network change this weekend; keeping this open until then."},
	{key: "wifi", service: "network", kind: desk.Incident, weight: 8,
		cases: []phrasing{
			{summaries: []string{"wifi keeps dropping in {site}", "handheld scanners lose wifi", "Scanners disconnect from wifi"},
				details: []string{"The wifi in {site} drops several times an hour, the handheld scanners lose connection.",
					"Our handheld scanners keep losing the wifi when we walk between the aisles."},
				resolutions: []string{"Replaced a faulty access point; signal is good again.", "Reset the PoE port feeding the access point; it came back."}},
			{summaries: []string{"No wifi in meeting room 4.12", "no wifi signal in the meeting room"},
				details:     []string{"There is no wifi signal at all in meeting room 4.12, fine in the corridor."},
				resolutions: []string{"The room's access point had failed; replaced it."}},
			{summaries: []string{"Guest wifi not working for visitors"},
				details:     []string{"Visitors can't get on the guest wifi, the sign-in page never loads."},
				resolutions: []string{"Renewed the guest portal certificate, which had expired."}},
			{summaries: []string{"Wireless very slow on the warehouse floor"},
				details:     []string{"Wifi on the warehouse floor is really slow since Monday, the scanners take ages to confirm picks."},
				resolutions: []string{"Moved the warehouse access points off a crowded channel; picks confirm at once."}},
			{summaries: []string{"can't connect to the Contoso wifi"},
				details:     []string{"My laptop doesn't connect to the Contoso wifi any more, it says 'can't connect to this network'."},
				resolutions: []string{"Removed the old wifi profile from the laptop and it connects."}},
		},
		notes: []string{"AP-{n} down; PoE port error on the access switch.", "Scanners roam between APs and drop the session."},
		known: "Known error {problem}: applied the workaround (re-open the scanner app after moving between areas) while the fix is found."},
	{key: "site-down", service: "network", kind: desk.Incident, weight: 4, impact: 1, urgency: 1, units: []string{"RETAIL", "MFG"},
		cases: []phrasing{
			{summaries: []string{"Store offline - tills can't reach the payment server", "No network at {site}", "whole site has no network"},
				details: []string{"Nothing works in {site}: the tills can't reach the payment server and the PCs have no internet.",
					"We have no network at all at {site} since 10 minutes."}},
			{summaries: []string{"internet very slow in {site}", "Card payments very slow"},
				details: []string{"The internet in {site} has been extremely slow since opening, card payments take a minute each."}},
		},
		notes: []string{"Site router unreachable; the carrier confirms a fibre cut.", "Backup 4G link came up; bandwidth limited."},
		resolutions: []string{"The carrier repaired a fibre cut; the site is back on the main line.",
			"Site router had hung; power-cycled it remotely through the out-of-band link.", "Failed over to the 4G backup, then the line came back."},
		hold: "supplier", holdNote: "The carrier has an engineer on the way; ETA four hours. The site runs on the 4G backup meanwhile."},
	{key: "firewall", service: "network", kind: desk.Request, weight: 4, urgency: 3,
		cases: []phrasing{
			{summaries: []string{"Firewall rule for supplier SFTP", "open SFTP for new supplier"},
				details:     []string{"Our new logistics supplier needs to send files to us over SFTP from 203.0.113.14, can you open it?"},
				resolutions: []string{"Firewall rule added after the security review; the supplier confirmed the transfer."}},
			{summaries: []string{"open port 443 to the new payment provider"},
				details:     []string{"We are moving to a new payment provider and the shop servers need to reach their API on 443."},
				resolutions: []string{"Outbound rule added for the provider's addresses; the shop reaches the API."}},
			{summaries: []string{"Need network port patched in office 2.03", "network socket not working"},
				details:     []string{"The network socket under my new desk in office 2.03 doesn't work, can it be patched?"},
				resolutions: []string{"Patched the port to the access switch."}},
			{summaries: []string{"allow access to a website that is blocked", "website blocked"},
				details:     []string{"The supplier portal is blocked by the web filter as 'uncategorised'."},
				resolutions: []string{"Recategorised the site in the web filter."}},
		}},

	// Departmental file shares.
	{key: "share-access", service: "file-shares", kind: desk.Incident, weight: 8, wrong: []string{"desktop"},
		cases: []phrasing{
			{summaries: []string{"mapped drive missing", "drive letter gone after restart", "Shared drive not showing", "S: drive disappeared"},
				details:     []string{"My S: drive disappeared after the restart this morning.", "The shared drive is not in File Explorer any more, only C: is there."},
				resolutions: []string{"The drive mapping script failed at log-on; re-ran it and the drive is back."}},
			{summaries: []string{"can't access the shared drive", "Access denied on S: drive", "can't open files on the S drive"},
				details: []string{"Access denied when I open the {share} folder, I could open it last week.",
					"I can see the folders on the S drive but every file says I don't have permission."},
				resolutions: []string{"Added the user to the share's access group; it works after signing out and in.", "Permissions on the folder were reset by a move; restored them."}},
		},
		asks:    []string{"Is it every folder or only {share}?"},
		replies: []string{"just that one"}},
	{key: "share-new", service: "file-shares", kind: desk.Request, weight: 4, urgency: 3, wrong: []string{"storage"},
		cases: []phrasing{
			{summaries: []string{"need a shared drive for {team}", "Request a department share", "shared folder for {team}"},
				details: []string{"We need a shared drive for {team} with access for six people, list attached."},
				resolutions: []string{"Created the folder with its access group; members added.",
					"Set the team up with a folder on the existing department share until they move to storage buckets."}},
			{summaries: []string{"New folder on the shared drive for the project"},
				details:     []string{"Please create a project folder under {share} that only the project members can open."},
				resolutions: []string{"Created the folder with its access group; members added."}},
			{summaries: []string{"more space on our team share", "team share full"},
				details:     []string{"Our team share is full (it says 0 bytes free), can we have more space?"},
				resolutions: []string{"Extended the share's quota by 200 GB."}},
		},
		asks:    []string{"File shares are being retired in favour of storage buckets; would a bucket with a synced folder work for you?"},
		replies: []string{"We'd rather have a normal drive for now, the auditors need it next week"}},
	{key: "share-restore", service: "file-shares", kind: desk.Request, weight: 4, urgency: 2,
		cases: []phrasing{
			{summaries: []string{"Deleted a folder on the shared drive by mistake, please restore", "restore deleted folder"},
				details:     []string{"I deleted the folder 'Q3 forecasts' on the S drive by mistake this morning. Can you restore it?"},
				resolutions: []string{"Restored the folder from last night's snapshot."}},
			{summaries: []string{"excel file on share got overwritten, need yesterday's version", "restore a file from backup"},
				details: []string{"Someone overwrote the budget spreadsheet on {share}. Is there a version from yesterday evening?",
					"Need the file 'supplier contracts 2026.xlsx' back as it was on Friday."},
				resolutions: []string{"Restored yesterday's version next to the current one as '(restored)'."}},
		}},
	{key: "share-slow", service: "storage", kind: desk.Incident, weight: 4, wrong: []string{"file-shares", "desktop"},
		cases: []phrasing{{summaries: []string{"shared drive extremely slow for everyone", "S drive takes minutes to open files", "Saving to the shared drive hangs"},
			details: []string{"Opening anything on the shared drive takes minutes this morning, the whole office has the same.",
				"Saving a small Word file to the S drive hangs for a long time. Everyone in {site} is complaining."}}},
		notes: []string{"Latency on the London array at 80 ms; a rebuild after a failed disk."},
		resolutions: []string{"A disk rebuild on the storage array was slowing every volume; throttled it and latency is normal.",
			"Moved the file server's volume to the faster tier; opening files is quick again."}},

	// CRM (SaaS).
	{key: "crm-slow", service: "crm-saas", kind: desk.Incident, weight: 6,
		cases: []phrasing{
			{summaries: []string{"CRM very slow today", "Customer records take forever to open", "CRM times out"},
				details: []string{"The CRM is very slow today, every customer record takes 30 seconds to open.",
					"Every Monday morning the CRM is so slow we can't take orders on the phone."}},
			{summaries: []string{"CRM won't load", "CRM blank page"},
				details:     []string{"CRM won't load at all, just a white page. Tried Chrome and Edge."},
				resolutions: []string{"Cleared the browser's cache for the CRM; it loads normally."}},
		},
		notes:       []string{"Vendor status page: degraded performance in their EU region.", "Opened a case with the vendor."},
		resolutions: []string{"The vendor confirmed a degradation in their EU region and fixed it on their side."},
		known:       "Known error {problem}: the vendor's weekly batch slows our tenant on Monday mornings; it recovered once the batch ended.",
		hold:        "supplier", holdNote: "Waiting for the CRM vendor (case opened with their support)."},
	{key: "crm-seat", service: "crm-saas", kind: desk.Request, weight: 5, urgency: 3,
		cases: []phrasing{
			{summaries: []string{"CRM licence for new sales rep", "Add {colleague} to the CRM"},
				details:     []string{"{colleague} joins the sales team on Monday and needs a CRM licence."},
				resolutions: []string{"Licence assigned and the user added to the sales role."}},
			{summaries: []string{"need CRM access"}, details: []string{"I moved to customer service and need access to the CRM."},
				resolutions: []string{"Licence assigned with the customer service role."}},
			{summaries: []string{"remove CRM licence of leaver"}, details: []string{"{colleague} has left, please remove the CRM licence so we stop paying for it."},
				resolutions: []string{"Licence removed and the records reassigned to the manager."}},
		}},
	{key: "crm-data", service: "crm-saas", kind: desk.Incident, weight: 4,
		cases: []phrasing{
			{summaries: []string{"Report export from CRM fails"}, details: []string{"Exporting the pipeline report to Excel fails with 'something went wrong'."},
				resolutions: []string{"The export hit the vendor's row limit; split the report by quarter."}},
			{summaries: []string{"CRM shows wrong customer data after import", "duplicate customers in CRM"},
				details:     []string{"After yesterday's import half of the customers have the wrong region.", "We have hundreds of duplicate customers since the import."},
				resolutions: []string{"Re-ran the import with the corrected mapping and merged the duplicates."}},
			{summaries: []string{"Emails not syncing to CRM"}, details: []string{"Emails I send from Outlook are no longer tracked in the CRM."},
				resolutions: []string{"Re-authorised the Outlook add-in; emails are tracked again."}},
		}},

	// Private cloud.
	{key: "vm-down", service: "private-cloud", kind: desk.Incident, weight: 6, urgency: 1, wrong: []string{"network"},
		cases: []phrasing{
			{summaries: []string{"VM not responding", "{host} is down", "server unreachable", "can't RDP to my server"},
				details: []string{"{host} doesn't respond since about 10:00, ping and SSH both time out.",
					"I can't remote desktop to {host}, it says the computer can't be found.",
					"our test server {host} is down, the shop's test environment is broken."},
				resolutions: []string{"The VM hung after its host was patched; reset it and it is responding.",
					"The server's disk was full; extended it by 50 GB and cleaned the logs."}},
			{summaries: []string{"VM console won't open"}, details: []string{"The console of {host} in the portal just shows a black screen."},
				resolutions: []string{"Restarted the VM tools service; the console works again."}},
		},
		notes: []string{"VM hung after the host's patching; reset from vCenter.", "Guest disk full; the OS stopped responding."}},
	{key: "vm-change", service: "private-cloud", kind: desk.Request, weight: 5, urgency: 3,
		cases: []phrasing{
			{summaries: []string{"need more CPU on {host}", "more memory for the VM"},
				details:     []string{"Can we get 4 more vCPUs on {host}? It runs at 100% during the nightly import.", "{host} needs 16 GB of memory instead of 8."},
				resolutions: []string{"Resized the VM in the maintenance window; the new size is billed from today."}},
			{summaries: []string{"Extend disk on {host}"}, details: []string{"Please extend the data disk of {host} by 100 GB."},
				resolutions: []string{"Disk extended online; the file system was grown too."}},
			{summaries: []string{"snapshot before upgrade please"}, details: []string{"We upgrade the application on {host} on {day} evening, please take a snapshot before 18:00."},
				resolutions: []string{"Snapshot taken and kept for 7 days."}},
			{summaries: []string{"Change backup schedule of {host}"}, details: []string{"The backup of {host} runs during our batch at 01:00, can it move to 04:00?"},
				resolutions: []string{"Backup moved to 04:00."}},
		}},

	// Managed PostgreSQL.
	{key: "db-perf", service: "database", kind: desk.Incident, weight: 5, urgency: 1,
		cases: []phrasing{
			{summaries: []string{"database connection timeouts", "Postgres running out of connections", "too many connections error"},
				details: []string{"The shop gets 'remaining connection slots are reserved' from the {db} database every few minutes.",
					"Our app gets connection timeouts to {db}, restarts didn't help."},
				resolutions: []string{"Put the application behind the connection pooler; connections steady at 40."}},
			{summaries: []string{"slow queries since last night", "{db} db very slow"},
				details: []string{"Since last night every query on {db} is 10 times slower."},
				resolutions: []string{"An idle transaction blocked autovacuum; ended it and set idle_in_transaction_session_timeout.",
					"Added the missing index; the query takes 20 ms."}},
		},
		notes:    []string{"Autovacuum blocked by an idle-in-transaction session for 9 hours.", "Connection pool misconfigured: 400 max from two pods."},
		escalate: "Platform Engineering", escalateNote: "Needs a DBA: over to second line."},
	{key: "db-ops", service: "database", kind: desk.Request, weight: 4, urgency: 3,
		cases: []phrasing{
			{summaries: []string{"need a restore of the {db} db to yesterday 14:00"},
				details:     []string{"Someone ran a bad update on {db}; please restore a copy as it was yesterday at 14:00."},
				resolutions: []string{"Restored a point-in-time copy next to the database; the team copied back what they needed."}},
			{summaries: []string{"password for db user expired"}, details: []string{"The password of the application user on {db} expired and the app can't connect."},
				resolutions: []string{"Reset the password and set it not to expire for the application user."}},
			{summaries: []string{"please upgrade to PostgreSQL 17"}, details: []string{"Can {db} be upgraded to PostgreSQL 17? We need the new JSON functions."},
				resolutions: []string{"Upgrade done in the maintenance window."}},
			{summaries: []string{"read access to {db} for reporting"}, details: []string{"Our BI tool needs read-only access to {db}."},
				resolutions: []string{"Read-only role created; credentials in the vault."}},
		}},

	// Object storage.
	{key: "bucket", service: "object-storage", kind: desk.Incident, weight: 4,
		cases: []phrasing{
			{summaries: []string{"403 when uploading to bucket {bucket}", "Access denied on bucket"},
				details:     []string{"Uploads to {bucket} fail with 403 AccessDenied since this morning."},
				resolutions: []string{"Bucket policy change had removed the team's write access; restored it."}},
			{summaries: []string{"S3 credentials expired", "access key not working"},
				details:     []string{"Our access key for {bucket} stopped working, 'InvalidAccessKeyId'."},
				resolutions: []string{"The access key had been rotated; issued a new key to the team's vault."}},
			{summaries: []string{"presigned URLs don't work"},
				details:     []string{"Presigned download links from {bucket} give SignatureDoesNotMatch."},
				resolutions: []string{"Server clock skew on the uploader; fixed NTP."}},
		}},
	{key: "bucket-ask", service: "object-storage", kind: desk.Request, weight: 3, urgency: 3, wrong: []string{"file-shares", "storage"},
		cases: []phrasing{
			{summaries: []string{"Lifecycle rule to delete old versions in {bucket}"},
				details:     []string{"Can you add a lifecycle rule so that versions older than 90 days are deleted in {bucket}?"},
				resolutions: []string{"Lifecycle rule added."}},
			{summaries: []string{"Make {bucket} readable by the partner"}, details: []string{"Our partner needs read access to one folder of {bucket}."},
				resolutions: []string{"Created a read-only key for the partner limited to the prefix."}},
			{summaries: []string{"Increase bucket quota"}, details: []string{"We hit the quota on {bucket}, please raise it."},
				resolutions: []string{"Quota raised."}},
		}},

	// Storage platform.
	{key: "backup", service: "storage", kind: desk.Incident, weight: 4,
		cases: []phrasing{{summaries: []string{"Backup job failed last night", "Backups of the file server failing", "restore test failed"},
			details: []string{"The nightly backup of the file server volumes failed with 'snapshot could not be created'.",
				"The backup report shows three failed jobs for the Manchester array."}}},
		notes:       []string{"Snapshot reserve at 100 %."},
		resolutions: []string{"Snapshot reserve was full; cleared old snapshots and the backup ran.", "Re-ran the jobs after the array's controller failover."}},
}

// Places the requesters work, by business unit.
var sites = map[string][]string{
	"RETAIL": {"the Leeds store", "the Bristol store", "the Manchester Arndale store", "the Glasgow store", "the Cardiff store", "store 112 (Norwich)",
		"the Oxford Street store", "head office, 3rd floor"},
	"MFG": {"the Derby plant", "the Brno plant", "the warehouse", "Line 3", "the plant office"},
	"FIN": {"head office, 5th floor", "the accounts office", "the Manchester office"},
}

var fills = map[string][]string{
	"printer":   {"PRN-3F-02", "the printer by the kitchen", "the big Ricoh on the 3rd floor", "PRN-STORE-01", "the label printer", "PRN-5F-01"},
	"host":      {"shop-test", "shop-web-02", "mes-app-01", "plant-hist-01", "fin-reports-01", "etl-worker-03", "b2b-gateway"},
	"bucket":    {"shop-images", "plant-sensor-archive", "fin-audit-exports", "shop-backups"},
	"db":        {"orders", "shop_catalog", "mes", "ledger_reporting"},
	"app":       {"the expenses app", "the intranet", "Workday", "the HR portal", "Power BI", "the supplier portal", "the CRM"},
	"colleague": {"Sarah", "James Wilson", "Ahmed", "Laura K.", "Piotr", "Emma Clarke", "Raj", "Sophie", "Daniel", "Chloe"},
	"team":      {"the audit team", "the store managers", "the plant planners", "the month-end close team", "the marketing team", "the quality team"},
	"share":     {"Finance", "Store Ops", "Quality", "Projects", "HR-Shared", "Purchasing"},
	"day":       {"Tuesday", "Wednesday", "Thursday", "Friday", "Monday"},
}

// The voice of a ticket: how people open, add to and sign off a description.
var (
	greetings = []string{"Hi,", "Hello,", "Hi IT,", "Hi team,", "Good morning,", "Hiya", "Hello service desk,", "", "", "", ""}
	// asides are what people add about trouble, or about an ask.
	asides = map[desk.Kind][]string{
		desk.Incident: {"It worked fine yesterday.", "Since this morning.", "Started after the update on {day}.", "My colleague {colleague} has the same problem.",
			"I already restarted twice.", "This is the second time this week.", "Not sure if this is the right place to ask."},
		desk.Request: {"My manager approved it.", "No rush.", "Needed by {day} if possible.", "Not sure if this is the right place to ask.",
			"{colleague} can confirm."},
	}
	pressing = []string{"Urgent please, we have customers waiting.", "I have a deadline at 3pm!", "This is blocking the whole team.", "Need this fixed asap.",
		"Please call me, it's urgent."}
	signoffs = []string{"Thanks", "Thanks, {first}", "thx", "Cheers", "Regards,\n{full}", "Many thanks", "Thank you!", "", ""}
	// How an agent writes down a call.
	calls = []string{"{first} called: ", "Phone call from {first} ({site}): ", "Walk-in at the desk: ", "Call from {full}: "}
)

// What agents say beyond the topic's own words.
var (
	acks = []string{"Thanks for reporting this, I'm looking into it now.", "Hi {first}, I've picked this up and will update you shortly.",
		"Thanks, I can see the problem on our side and I'm working on it.", "Looking at this now; I may connect remotely to your laptop."}
	genericAsks    = []string{"Could you send a screenshot of the error, please?", "When would suit you for a short remote session?", "Does this still happen after a restart?"}
	genericReplies = []string{"screenshot attached", "any time this afternoon", "yes still the same after restarting"}
	genericNotes   = []string{"Checked the logs; nothing obvious yet.", "Reproduced on a test account.", "Called the user, no answer; left a voicemail.",
		"Similar to a ticket last month; trying the same fix."}
	reopenNotes = []string{"Still not working, same error this morning.", "It worked for a day and now it's back.", "not fixed, happening again",
		"Sorry, the problem came back after the restart."}
	reopenWork = []string{"Reopened by the user: the first fix did not hold; digging further.", "Back again: the fix was only a workaround, looking for the cause."}
	chases     = []string{"Any update on this please?", "hi, any news?", "Still waiting on this one.", "Is anyone looking at this?"}
)

// Ratings' comments, by rating (1 to 5).
var ratingComments = map[int][]string{
	5: {"Quick and friendly, thanks!", "Sorted in minutes, great service", "{agent} was very patient with me", "Perfect, thank you", "works like a charm",
		"", "", "", ""},
	4: {"Good, took a bit long", "Fixed, but I had to chase once", "fine", "", "", ""},
	3: {"ok in the end but took 3 days", "Fixed but nobody told me it was done", "Had to explain the problem twice"},
	2: {"Took far too long, we were without it for two days", "Closed before it was really fixed", "No update for days"},
	1: {"Ticket was resolved without fixing anything", "Nobody called back, I fixed it myself", "Three days without it, unacceptable"},
}
