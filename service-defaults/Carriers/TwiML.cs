using System.Text;
using System.Xml;
using CallMesh.Calls;

namespace CallMesh.Carriers;

/// <summary>The TwiML answers to an inbound call and to the dial result (SignalWire's LaML is the same).</summary>
public static class TwiML
{
    public const string ContentType = "text/xml; charset=utf-8";
    public const int VoicemailMaxSeconds = 180;
    public const string VoicemailPrompt = "Sorry, nobody can take your call right now. Please leave a message after the tone.";
    public const string Goodbye = "Sorry, nobody can take your call right now. Please call again later. Goodbye.";

    /// <param name="webhooks">The public URL of this carrier's webhooks (…/v1/voice/twilio), for the dial action and status callbacks.</param>
    public static string Answer(CallRouting routing, string webhooks) => Write(w =>
    {
        switch (routing.Action)
        {
            case "reject":
                w.WriteStartElement("Reject");
                w.WriteAttributeString("reason", "rejected");
                w.WriteEndElement();
                return;
            case "not-in-service":
                w.WriteElementString("Say", "The number you have called is not in service.");
                w.WriteElementString("Hangup", "");
                return;
        }
        if (routing.RecordingNotice is { } notice) w.WriteElementString("Say", notice);
        Dial(w, routing, 1, webhooks);
    });

    /// <summary>
    /// The answer to step <paramref name="step"/>'s dial result when nobody answered: the next step's dial, else voicemail
    /// when the location takes messages, else a polite goodbye. It depends on the routing and the step alone, so a repeated
    /// or late dial result gets the same answer.
    /// </summary>
    public static string AfterUnanswered(CallRouting routing, int step, string webhooks) => Write(w =>
    {
        if (routing.Action == "dial" && step < routing.StepsInOrder.Count) Dial(w, routing, step + 1, webhooks);
        else if (routing.Action == "dial" && routing.Voicemail)
        {
            w.WriteElementString("Say", VoicemailPrompt);
            w.WriteStartElement("Record");
            w.WriteAttributeString("action", $"{webhooks}/voicemail");
            w.WriteAttributeString("maxLength", VoicemailMaxSeconds.ToString());
            w.WriteAttributeString("playBeep", "true");
            w.WriteEndElement();
        }
        else
        {
            w.WriteElementString("Say", Goodbye);
            w.WriteElementString("Hangup", "");
        }
    });

    /// <summary>
    /// One ring step: its numbers ring together for its timeout. The dial action and each number's status callback name the
    /// step (and the action the route, so the next step is the same strategy's even if the hours turn meanwhile).
    /// </summary>
    private static void Dial(XmlWriter w, CallRouting routing, int step, string webhooks)
    {
        var ring = routing.StepsInOrder[step - 1];
        w.WriteStartElement("Dial");
        w.WriteAttributeString("action", $"{webhooks}/dial-action?step={step}&route={routing.Route}");
        w.WriteAttributeString("timeout", ring.TimeoutSeconds.ToString());
        w.WriteAttributeString("callerId", routing.CallerId);
        if (routing.Record) w.WriteAttributeString("record", "record-from-answer-dual");
        w.WriteAttributeString("answerOnBridge", "true");
        foreach (var number in ring.Numbers)
        {
            w.WriteStartElement("Number");
            // Said to whoever answers, before the caller is put through (the carrier fetches it from this URL).
            if (routing.Whisper is not null) w.WriteAttributeString("url", $"{webhooks}/whisper?step={step}");
            w.WriteAttributeString("statusCallback", $"{webhooks}/status?step={step}");
            w.WriteAttributeString("statusCallbackEvent", "initiated ringing answered completed");
            w.WriteString(number);
            w.WriteEndElement();
        }
        w.WriteEndElement();
    }

    /// <summary>The ring step a dial action or a dialed leg's callback is of (…?step=N in the URL our dial gave the carrier).</summary>
    public static int? StepOf(string? query) => int.TryParse(query, out var step) && step is >= 1 and <= 5 ? step : null;

    /// <summary>A step's dial result that asks for the next step: nobody answered it (a caller who hung up ends the call).</summary>
    public static bool Unanswered(string? dialCallStatus, bool? bridged) => dialCallStatus is "no-answer" or "busy" or "failed" && bridged != true;

    /// <summary>After the forwarded leg ends there is nothing more to do on the caller's leg.</summary>
    public static string HangUp() => HangUpAnswer;

    // The same for every call: written once (an XmlWriter allocates about 17 KB, and nearly every call ends with this).
    private static readonly string HangUpAnswer = Write(w => w.WriteElementString("Hangup", ""));

    /// <summary>A text to a tracking number, passed on to the location's mobile number (or nowhere: an empty answer).</summary>
    public static string ForwardText(string? to, string from, string? body) => Write(w =>
    {
        if (to is null) return;
        w.WriteStartElement("Message");
        w.WriteAttributeString("to", to);
        w.WriteString($"Text from {from}: {body}");
        w.WriteEndElement();
    });

    /// <summary>What the answering person hears before the caller is put through.</summary>
    public static string Whisper(string text) => Write(w =>
    {
        if (text.Length > 0) w.WriteElementString("Say", text);
    });

    private static string Write(Action<XmlWriter> body)
    {
        var output = new StringBuilder();
        using (var writer = XmlWriter.Create(new Utf8StringWriter(output), new XmlWriterSettings { Encoding = new UTF8Encoding(false) }))
        {
            writer.WriteStartDocument();
            writer.WriteStartElement("Response");
            body(writer);
            writer.WriteEndElement();
        }
        return output.ToString();
    }

    private sealed class Utf8StringWriter(StringBuilder builder) : StringWriter(builder)
    {
        public override Encoding Encoding => new UTF8Encoding(false);
    }
}
