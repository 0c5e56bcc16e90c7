using System.Text;
using System.Xml;
using CallMesh.Calls;

namespace CallMesh.Carriers;

/// <summary>The TwiML answers to an inbound call and to the dial result (SignalWire's LaML is the same).</summary>
public static class TwiML
{
    public const string ContentType = "text/xml; charset=utf-8";
    public const int RingSeconds = 25;

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
        w.WriteStartElement("Dial");
        w.WriteAttributeString("action", $"{webhooks}/dial-action");
        w.WriteAttributeString("timeout", RingSeconds.ToString());
        w.WriteAttributeString("callerId", routing.CallerId);
        if (routing.Record) w.WriteAttributeString("record", "record-from-answer-dual");
        w.WriteAttributeString("answerOnBridge", "true");
        w.WriteStartElement("Number");
        w.WriteAttributeString("statusCallback", $"{webhooks}/status");
        w.WriteAttributeString("statusCallbackEvent", "initiated ringing answered completed");
        w.WriteString(routing.DialTo);
        w.WriteEndElement();
        w.WriteEndElement();
    });

    /// <summary>After the forwarded leg ends there is nothing more to do on the caller's leg.</summary>
    public static string HangUp() => Write(w => w.WriteElementString("Hangup", ""));

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
