"""Human words for stored codes. English msgids, marked with N_ so `make messages` extracts them;
templates translate them with _() at render time, in the reader's language."""

from __future__ import annotations


def N_(message: str) -> str:
    return message


AGE_BAND_LABELS = {
    "18-29": N_("18 to 29"),
    "30-44": N_("30 to 44"),
    "45-59": N_("45 to 59"),
    "60-74": N_("60 to 74"),
    "75+": N_("75 or older"),
}
GENDER_LABELS = {"female": N_("Female"), "male": N_("Male"), "other": N_("Other / prefer not to say")}
OCCUPATION_LABELS = {
    "employed": N_("Employed"),
    "self_employed": N_("Self-employed"),
    "public_sector": N_("Public sector"),
    "retired": N_("Retired"),
    "student": N_("Student"),
    "not_working": N_("Not working"),
}
PARTICIPANT_TYPE_LABELS = {
    "resident": N_("Resident"),
    "deputy_pc": N_("Deputy to the people's congress"),
    "deputy_party": N_("Deputy to the party congress"),
    "deputy_cppcc": N_("Member of the CPPCC"),
    "expert": N_("Expert"),
}
ROLE_LABELS = {
    "judge": N_("Volunteer judge"),
    "evaluator": N_("Evaluator"),
    "subscriber": N_("Subscriber"),
}
ROLE_DESCRIPTIONS = {
    "judge": N_("You may be drawn by lot to sit on a grand jury that interviews and scores candidates."),
    "evaluator": N_("You may be invited to rate applicants in a democratic assessment."),
    "subscriber": N_("You receive SMS notices about appointments, results and public notice periods."),
}
CONSENT_TEXTS = {
    "judge": N_(
        "I agree that my name, community, age group, gender, occupation group, participant type and work "
        "unit are used to draw grand juries by a fair lottery and to exclude conflicts of interest, and that "
        "I may be contacted by SMS about a draw."
    ),
    "evaluator": N_(
        "I agree that my community and participant type are used to invite me to democratic assessments, "
        "and that I may be contacted by SMS with a personal ballot link. My ratings stay secret."
    ),
    "subscriber": N_(
        "I agree to receive SMS notices of the kinds and communities I choose. I can stop at any time by "
        "replying STOP or TD."
    ),
}
NOTICE_KIND_LABELS = {
    "posts_and_quotas": N_("Posts and quotas"),
    "nomination_call": N_("Calls for nominations"),
    "process": N_("How a selection proceeds"),
    "stage_result": N_("Results of each stage"),
    "final_result": N_("Final results"),
    "appointment": N_("Appointment notices and objections"),
}
