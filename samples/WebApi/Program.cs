// Serves the sentiment model over HTTP:
//   dotnet run -c Release --project samples/SentimentClassification -- --model sentiment.mlnt
//   dotnet run -c Release --project samples/WebApi -- --ModelPath sentiment.mlnt --urls http://localhost:5000
//   curl -s localhost:5000/predict -H 'Content-Type: application/json' -d '{"text": "A gripping, beautifully acted film."}'
try
{
    WebApi.SentimentApi.Create(args).Run();
}
catch (Exception e) when (e is FileNotFoundException or InvalidDataException or IOException)
{
    Console.Error.WriteLine(e.Message);
    return 1;
}
return 0;
