"""The audit log in words: each recorded action code as a sentence fragment in the reader's language,
each kind of subject and actor as a noun. English msgids marked with N_; translated at render time."""

from __future__ import annotations

from engage.i18n import gettext as _
from engage.residents.labels import N_

ACTIONS = {
    "community.create": N_("created a community"),
    "community.rename": N_("renamed a community"),
    "conflict.declare": N_("declared a conflict of interest"),
    "conflict.remove": N_("removed a declared conflict"),
    "evaluation.accept_flagged": N_("accepted flagged ratings"),
    "evaluation.close": N_("closed an evaluation"),
    "evaluation.contact": N_("recorded a service contact"),
    "evaluation.contacts_import": N_("imported service contacts"),
    "evaluation.create": N_("created an evaluation"),
    "evaluation.edit": N_("edited an evaluation"),
    "evaluation.flag_bulk": N_("flagged ratings in bulk"),
    "evaluation.invite": N_("invited raters"),
    "evaluation.publish": N_("published an evaluation"),
    "evaluation.rate": N_("rated"),
    "evaluation.reject_flagged": N_("rejected flagged ratings"),
    "evaluation.reschedule": N_("rescheduled an evaluation"),
    "notice.close": N_("closed a notice"),
    "notice.create": N_("wrote a notice"),
    "notice.deliveries_export": N_("exported a notice's texts"),
    "notice.period_extend": N_("extended a notice period"),
    "notice.period_open": N_("opened a notice period"),
    "notice.period_close": N_("closed a notice period"),
    "notice.period_resume": N_("resumed a notice period"),
    "notice.period_suspend": N_("suspended a notice period"),
    "notice.publish": N_("published a notice"),
    "notice.retry_failed": N_("sent failed texts again"),
    "notice.update": N_("edited a notice"),
    "objection.answer": N_("answered an objection"),
    "objection.file": N_("filed an objection"),
    "organizer.create": N_("added an organizer"),
    "organizer.disable": N_("disabled an organizer"),
    "organizer.enable": N_("enabled an organizer"),
    "organizer.login": N_("signed in"),
    "organizer.logout": N_("signed out"),
    "organizer.password_reset": N_("reset a password"),
    "panel.attended": N_("checked in a panel member"),
    "panel.check_in": N_("checked in a panel member"),
    "panel.close": N_("closed a panel"),
    "panel.confirm": N_("confirmed a panel seat"),
    "panel.create": N_("created a panel"),
    "panel.declined": N_("declined a panel seat"),
    "panel.draw": N_("drew a panel"),
    "panel.exclusions": N_("set a panel's exclusions"),
    "panel.freeze": N_("froze a panel's pool"),
    "panel.invite": N_("invited a panel member"),
    "panel.no_replacement": N_("found no fitting reserve"),
    "panel.quotas": N_("set a panel's quotas"),
    "panel.remind": N_("reminded panel members"),
    "panel.replace": N_("seated a reserve"),
    "panel.replaced": N_("gave up a seat by not replying"),
    "panel.withdrawn": N_("withdrew from a panel"),
    "resident.confirm": N_("confirmed a registration"),
    "resident.delete": N_("deleted a resident's data"),
    "resident.import": N_("imported residents"),
    "resident.phone_lookup": N_("searched by phone number"),
    "resident.phone_view": N_("viewed a phone number"),
    "resident.profile_update": N_("updated a profile"),
    "resident.register": N_("registered"),
    "resident.roles_update": N_("changed roles"),
    "resident.sms_opt_in": N_("allowed texts again"),
    "resident.sms_opt_out": N_("stopped texts"),
    "roster.import": N_("imported a roster"),
    "selection.applicant.add": N_("added an applicant"),
    "selection.applicant.withdraw": N_("withdrew an applicant"),
    "selection.appoint": N_("appointed"),
    "selection.assessment.verdict": N_("decided the assessment"),
    "selection.ballot.cast": N_("cast a ballot"),
    "selection.create": N_("created a selection"),
    "selection.finish": N_("finished a selection"),
    "selection.interview.absent": N_("marked a juror absent"),
    "selection.interview.conflict": N_("recorded a juror's conflict"),
    "selection.interview.result": N_("decided the interview"),
    "selection.interview.seat": N_("seated the interview jurors"),
    "selection.interview.submit": N_("submitted interview scores"),
    "selection.nomination.add": N_("nominated"),
    "selection.nomination.change": N_("changed a nomination"),
    "selection.nominee.consent": N_("answered a nomination"),
    "selection.notice_extended": N_("extended an appointment notice"),
    "selection.notice_resumed": N_("resumed an appointment notice"),
    "selection.notice_suspended": N_("suspended an appointment notice"),
    "selection.panel": N_("linked a panel"),
    "selection.publish": N_("published a selection"),
    "selection.result": N_("published a result"),
    "selection.speech.ranking": N_("ranked the speeches"),
    "selection.speech.score": N_("scored a speech"),
    "selection.stage.close": N_("closed a stage"),
    "selection.stage.open": N_("opened a stage"),
    "selection.stage.reschedule": N_("rescheduled a stage"),
    "sms.queue": N_("queued a text"),
    "token.create": N_("created an access token"),
    "token.revoke": N_("revoked an access token"),
}
SUBJECTS = {
    "community": N_("Community"),
    "evaluator": N_("Evaluator"),
    "evaluation": N_("Evaluation"),
    "notice": N_("Notice"),
    "objection": N_("Objection"),
    "organizer": N_("Organizer"),
    "panel": N_("Panel"),
    "resident": N_("Resident"),
    "roster": N_("Roster"),
    "selection": N_("Selection"),
    "sms_message": N_("Text message"),
    "token": N_("Access token"),
}


def action_words(action: str) -> str:
    """The action in words; an action this table does not know yet is named by its domain."""
    words = ACTIONS.get(action)
    if words:
        return _(words)
    domain = action.split(".", 1)[0]
    return _("another step on: %(subject)s") % {"subject": subject_words(domain)}


def subject_words(kind: str) -> str:
    words = SUBJECTS.get(kind)
    return _(words) if words else _("another record")


def actor_words(actor: str, organizers: dict[int, str]) -> str:
    """`system`, `organizer:<id>` (shown by email) or `<kind>:<pseudonym>`."""
    if actor == "system":
        return _("System")
    kind, _sep, who = actor.partition(":")
    if kind == "organizer" and who.isdigit():
        return organizers.get(int(who), _("Organizer %(id)s") % {"id": who})
    return f"{subject_words(kind)} {who}".strip()
